/**
 * The narrow view of the host registry (hosts/) that SSH issuance needs: is a host enrolled and active, what is its
 * registered SSH host key, and which hosts were removed (their certificates go into the KRL). In memory (hosts/ keeps its directory current), so
 * these are synchronous.
 */

export interface SshHost {
  id: string
  name: string
  status: 'active' | 'removed'
  /** OpenSSH one-line form. */
  sshHostPublicKey: string
}

export interface SshHostDirectory {
  byName(name: string): SshHost | undefined
  /** By host id (the client id of the host's API token). */
  byId(id: string): SshHost | undefined
  /** Names of removed hosts: never reused, so a name here stays removed. */
  removedNames(): string[]
}

/** Until a registry is wired: no host is enrolled, so every request naming one is refused (fail closed). */
export const NO_HOSTS: SshHostDirectory = {
  byName: () => undefined,
  byId: () => undefined,
  removedNames: () => [],
}
