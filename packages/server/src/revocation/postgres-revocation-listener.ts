/**
 * PostgresRevocationListener: one dedicated connection that LISTENs on `writ_revocations`, so a revocation committed on
 * any replica reaches this one's streams at once. A notification only says "read storage"; a lost connection is
 * re-opened with backoff and followed by a read from the last id seen, so a missed notification never loses an event.
 */
import type { Logger } from '../logger.js'
import { REVOCATION_CHANNEL } from '../storage/revocation-repository.js'

const BACKOFF_MIN_MS = 100
const BACKOFF_MAX_MS = 5_000

interface ListenClient {
  connect(): Promise<unknown>
  query(text: string): Promise<unknown>
  end(): Promise<void>
  on(event: 'notification', listener: (message: { channel: string }) => void): unknown
  on(event: 'error' | 'end', listener: (error?: Error) => void): unknown
  removeAllListeners(): unknown
  processID?: number
}

export class PostgresRevocationListener {
  private client: ListenClient | undefined
  private closed = false
  private backoffMs = BACKOFF_MIN_MS
  private retry: ReturnType<typeof setTimeout> | undefined
  private connected: Promise<void> | undefined

  private constructor(
    private readonly url: string,
    /** Reads new events from storage (RevocationFeed.catchUp). */
    private readonly catchUp: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Connects (a failure is retried in the background: the backstop poll covers the meantime). */
  static async start(url: string, catchUp: () => Promise<void>, logger: Logger): Promise<PostgresRevocationListener> {
    const listener = new PostgresRevocationListener(url, catchUp, logger)
    await listener.connect()
    return listener
  }

  /** The backend pid of the listening connection (tests terminate it to prove the catch-up). */
  get backendPid(): number | undefined {
    return this.client?.processID
  }

  /** Resolves once the listener is connected again after a loss (tests). */
  whenConnected(): Promise<void> {
    return this.connected ?? Promise.resolve()
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    const client = this.client
    this.client = undefined
    client?.removeAllListeners()
    await client?.end().catch(() => undefined)
  }

  private connect(): Promise<void> {
    const attempt = this.open().then(
      () => {
        this.backoffMs = BACKOFF_MIN_MS
        // Whatever committed while no one listened is read now, from the last id seen.
        return this.catchUp()
      },
      (error: unknown) => {
        this.logger.warn('the revocation listener cannot connect; retrying', { error: String(error), retry_ms: this.backoffMs })
        this.schedule()
      },
    )
    this.connected = attempt
    return attempt
  }

  private async open(): Promise<void> {
    const { default: pg } = await import('pg')
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 }) as unknown as ListenClient
    // A dropped connection (server restart, pg_terminate_backend) reports an error and ends: reconnect once.
    let lost = false
    const onLost = (error?: Error) => {
      if (lost || this.closed) return
      lost = true
      this.logger.warn('the revocation listener lost its connection; reconnecting', { error: String(error ?? 'ended') })
      client.removeAllListeners()
      client.end().catch(() => undefined)
      if (this.client === client) this.client = undefined
      this.schedule()
    }
    client.on('error', onLost)
    client.on('end', onLost)
    client.on('notification', (message) => {
      if (message.channel === REVOCATION_CHANNEL) void this.catchUp()
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`)
    } catch (error) {
      lost = true
      client.removeAllListeners()
      await client.end().catch(() => undefined)
      throw error
    }
    if (this.closed) {
      await client.end().catch(() => undefined)
      return
    }
    this.client = client
  }

  private schedule(): void {
    if (this.closed) return
    clearTimeout(this.retry)
    const delay = this.backoffMs
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS)
    let resolve!: () => void
    this.connected = new Promise((r) => { resolve = r })
    this.retry = setTimeout(() => { void this.connect().then(resolve) }, delay)
    this.retry.unref()
  }
}
