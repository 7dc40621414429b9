/** readTlsCredentials(): the certificate chain and private key of both listeners, read and checked at start-up. */
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { WritError } from '@writ/sdk'
import { fileErrorReason } from '../config/file-error.js'
import type { Config } from '../config/schema.js'

export interface TlsCredentials {
  cert: Buffer
  key: Buffer
}

/** Undefined when TLS is not configured (the schema requires both files or neither). */
export function readTlsCredentials(tls: Config['server']['tls']): TlsCredentials | undefined {
  if (tls.certFile === undefined || tls.keyFile === undefined) return undefined
  const credentials = { cert: readPem(tls.certFile, 'server.tls.certFile'), key: readPem(tls.keyFile, 'server.tls.keyFile') }
  try {
    // Fails now, with the setting's name, rather than at the first handshake: bad PEM, or a key that does not match.
    createSecureContext(credentials)
  } catch (error) {
    // The OpenSSL message names the problem (no start line, key values mismatch); it never contains key material.
    throw new WritError('CONFIG_INVALID',
      `server.tls: \`${tls.certFile}\` and \`${tls.keyFile}\` are not a usable certificate and key: ${(error as Error).message}`, { cause: error })
  }
  return credentials
}

function readPem(file: string, setting: string): Buffer {
  try {
    return readFileSync(file)
  } catch (error) {
    throw new WritError('CONFIG_INVALID', `${setting}: cannot read \`${file}\`: ${fileErrorReason(error)}`, { cause: error })
  }
}
