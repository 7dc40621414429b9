import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { WritError } from '@writ/sdk'
import { openStorage } from './open-storage.js'
import { redactPostgresUrl } from './postgres-url.js'
import { describePostgres, TEST_DATABASE_URL } from './test-database.fixture.js'

async function openFailure(url: string, connectTimeoutMs = 300): Promise<WritError> {
  const error = await openStorage({ driver: 'postgres', url, connectTimeoutMs }).then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(WritError)
  return error as WritError
}

async function listening(onConnection: (socket: Socket) => void = () => undefined): Promise<{ port: number; server: Server }> {
  const server = createServer(onConnection)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, server }
}

describe('redactPostgresUrl', () => {
  it('keeps user, host, port and database and drops the password and the query', () => {
    expect(redactPostgresUrl('postgres://writ:hunter2@db.internal:6432/writ_prod?sslmode=require&password=x')).toBe('postgres://writ@db.internal:6432/writ_prod')
    expect(redactPostgresUrl('postgresql://writ@db')).toBe('postgresql://writ@db:5432/writ')
    expect(redactPostgresUrl('not a url hunter2')).not.toContain('hunter2')
  })
})

describe('opening PostgreSQL names the cause', () => {
  it('a port where nothing listens: connection refused, naming host and port but never the password', async () => {
    const { port, server } = await listening()
    await new Promise((resolve) => server.close(resolve))
    const error = await openFailure(`postgres://writ:hunter2@127.0.0.1:${port}/writ`)
    expect(error.code).toBe('STORAGE_UNAVAILABLE')
    expect(error.reasons).toEqual(['connection_refused'])
    expect(error.detail).toBe(`cannot open postgres storage at \`postgres://writ@127.0.0.1:${port}/writ\`: connection refused by 127.0.0.1:${port}; is PostgreSQL running and listening there?`)
    expect(error.detail).not.toContain('hunter2')
  })

  it('a server that accepts and never answers: timeout', async () => {
    const sockets: Socket[] = []
    const { port, server } = await listening((socket) => { sockets.push(socket) })
    try {
      const error = await openFailure(`postgres://writ:hunter2@127.0.0.1:${port}/writ`)
      expect(error.reasons).toEqual(['timeout'])
      expect(error.detail).toContain(`no answer from 127.0.0.1:${port}`)
      expect(error.detail).not.toContain('hunter2')
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('a host name that does not resolve: host not found', async () => {
    // The timeout covers the lookup too: generous, so a slow resolver is not mistaken for a silent server.
    const error = await openFailure('postgres://writ:hunter2@writ-no-such-host.invalid:5432/writ', 10_000)
    expect(error.reasons).toEqual(['host_not_found'])
    expect(error.detail).toContain('host `writ-no-such-host.invalid` not found')
    expect(error.detail).not.toContain('hunter2')
  })

  describe.skipIf(!TEST_DATABASE_URL)(describePostgres(), () => {
    const withPath = (path: string, user?: string) => {
      const url = new URL(TEST_DATABASE_URL as string)
      url.pathname = path
      if (user) url.username = user
      return url.toString()
    }

    it('a database that does not exist: names it and says how to create it', async () => {
      const error = await openFailure(withPath('/writ_no_such_database_3d000'))
      expect(error.reasons).toEqual(['database_not_found'])
      expect(error.detail).toContain('database `writ_no_such_database_3d000` does not exist on')
      expect(error.detail).toContain('createdb')
    })

    it('a role the server refuses: authentication failed, naming the user', async () => {
      const error = await openFailure(withPath('/postgres', 'writ_no_such_role'))
      expect(error.reasons).toEqual(['authentication_failed'])
      expect(error.detail).toContain('user `writ_no_such_role`')
    })
  })
})
