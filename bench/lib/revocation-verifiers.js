/**
 * A child process of bench/revocation: holds N subscribed SDK verifiers (Writ phase) or N bare SSE readers
 * (baseline phase) and reports, per connection, the wall-clock time (performance.timeOrigin + performance.now(), ms)
 * at which it learnt of the one event the parent triggers. Driven over IPC by the parent (child_process.fork).
 */
import { createParser } from 'eventsource-parser'
import { createCapabilityVerifier, ResourceServerClient, subscribeRevocations } from '../../packages/sdk/dist/index.js'

const wallClock = () => performance.timeOrigin + performance.now()
const send = (message) => process.send(message)

process.on('message', (message) => {
  const run = message.cmd === 'writ' ? writ : message.cmd === 'baseline' ? baseline : undefined
  if (run === undefined) return
  run(message).catch((error) => {
    send({ error: String(error?.stack ?? error) })
    process.exit(1)
  })
})

async function writ({ count, issuer, publicUrl, audience, clientId, privateJwk, token, expected, streamUrl, applyOnly }) {
  // One API token per process, shared by its subscriptions (as one resource server's instances would), from the
  // server the stream is read from (with --replicas=2, the second replica: its API tokens are for its own issuer).
  const streamOrigin = streamUrl === undefined ? publicUrl : new URL(streamUrl).origin
  const accessToken = new ResourceServerClient({ issuer: streamOrigin, clientId, privateKey: privateJwk })
  const applied = new Array(count).fill(undefined)
  const refused = new Array(count).fill(undefined)
  let pending = count
  let armed = false
  const errors = []
  const verifiers = []
  const subscriptions = []
  // The key set is fetched once per process and given to every verifier as a fixed set: what is measured is the
  // revocation's way to the verifiers, not 1,000 JWKS fetches racing at start.
  const jwks = await (await fetch(`${publicUrl}/.well-known/jwks.json`)).json()
  for (let i = 0; i < count; i++) {
    const subscription = subscribeRevocations({
      issuer,
      ...(streamUrl === undefined ? {} : { eventsUrl: streamUrl }),
      accessToken,
      onError: (error) => errors.push(error.message),
      onRevocation: () => {
        if (!armed || applied[i] !== undefined) return
        applied[i] = wallClock()
        if (applyOnly) {
          // Diagnostic (--apply-only): propagation alone, without the verifications serialised in this process.
          refused[i] = applied[i]
          if (--pending === 0) finish()
          return
        }
        // What a request arriving now would see: this verifier's own verification of the token, refused.
        verifiers[i].verify(token, expected).then(
          () => { throw new Error(`verifier ${i} still accepts the revoked token`) },
          (error) => {
            if (error.code !== 'TOKEN_REVOKED') throw error
            refused[i] = wallClock()
            if (--pending === 0) finish()
          },
        ).catch((error) => send({ error: String(error) }))
      },
    })
    subscriptions.push(subscription)
    verifiers.push(createCapabilityVerifier({ issuer, audience, jwks, isRevoked: subscription.isRevoked }))
  }
  await Promise.all(subscriptions.map((s) => s.ready))
  // Every verifier accepts the token before the revocation (and has its keys cached).
  for (const verifier of verifiers) await verifier.verify(token, expected)
  armed = true
  send({ ready: true, connections: subscriptions.filter((s) => s.status().connected).length })
  function finish() {
    send({ done: true, applied, refused, errors: errors.slice(0, 5) })
    for (const s of subscriptions) s.close()
  }
}

async function baseline({ count, url }) {
  const read = new Array(count).fill(undefined)
  let pending = count
  let open = 0
  await new Promise((resolve, reject) => {
    for (let i = 0; i < count; i++) {
      fetch(url, { headers: { accept: 'text/event-stream' } }).then(async (response) => {
        if (response.status !== 200) throw new Error(`baseline stream answered ${response.status}`)
        // The same reading path as the SDK: Node's fetch body, TextDecoder, eventsource-parser.
        const parser = createParser({
          onEvent: (event) => {
            if (event.event === 'open') {
              if (++open === count) resolve()
              return
            }
            if (read[i] !== undefined) return
            read[i] = wallClock()
            if (--pending === 0) send({ done: true, read })
          },
        })
        const decoder = new TextDecoder()
        for await (const chunk of response.body) parser.feed(decoder.decode(chunk, { stream: true }))
      }).catch(reject)
    }
  })
  send({ ready: true, connections: open })
}
