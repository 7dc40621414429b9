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

/** The registry's directory (hosts/host-directory.ts) as the SSH endpoints see it. */
export function sshHostDirectory(hosts: {
  byName(name: string): HostRecord | undefined
  byId(id: string): HostRecord | undefined
  removedNames(): string[]
}): SshHostDirectory {
  const view = (h: HostRecord | undefined): SshHost | undefined => h && { id: h.id, name: h.name, status: h.status, sshHostPublicKey: h.ssh_host_public_key }
  return { byName: (name) => view(hosts.byName(name)), byId: (id) => view(hosts.byId(id)), removedNames: () => hosts.removedNames() }
}

interface HostRecord { id: string; name: string; status: 'active' | 'removed'; ssh_host_public_key: string }
