/** A throwaway self-signed certificate for 127.0.0.1 and localhost, made by the `openssl` command, for TLS tests. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface TestCertificate {
  certFile: string
  keyFile: string
  /** The certificate itself, to trust as the CA of a client. */
  ca: Buffer
}

export function selfSignedCertificate(dir: string): TestCertificate {
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=writ test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'pipe' })
  return { certFile, keyFile, ca: readFileSync(certFile) }
}
