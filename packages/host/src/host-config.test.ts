/** The host configuration is checked when loaded: a file naming another host's audience must not start an agent. */
import { describe, expect, it } from 'vitest'
import { checkHostConfig } from './host-config.js'

const valid = {
  issuer: 'https://writ.example', host_id: 'h-1', name: 'web-1', audience: 'urn:writ:host:web-1', key_path: '/etc/writ/host-key.json',
}

describe('checkHostConfig', () => {
  it('fills the defaults', () => {
    expect(checkHostConfig(valid)).toMatchObject({
      socket_path: '/run/writ/host-agent.sock', state_dir: '/var/lib/writ/host', agent_group: 'writ-agents',
    })
  })
  const refused: Array<[string, Record<string, unknown>]> = [
    ['another host\'s audience', { audience: 'urn:writ:host:web-2' }],
    ['an audience that is not a host\'s', { audience: 'https://api.example' }],
    ['a name that is not a host name', { name: 'Web_1', audience: 'urn:writ:host:Web_1' }],
    ['a relative key path', { key_path: 'host-key.json' }],
    ['a relative socket path', { socket_path: 'run/agent.sock' }],
    ['an issuer that is not a URL', { issuer: 'writ' }],
    ['a KRL interval of 0', { krl_interval_seconds: 0 }],
    ['a KRL interval that is not an integer', { krl_interval_seconds: '30' }],
    ['a missing host id', { host_id: undefined }],
  ]
  for (const [name, change] of refused) {
    it(`refuses ${name}`, () => expect(() => checkHostConfig({ ...valid, ...change })).toThrow(/host configuration/))
  }
  it('refuses what is not an object', () => {
    for (const value of [null, [], 'x', 1]) expect(() => checkHostConfig(value)).toThrow()
  })
})
