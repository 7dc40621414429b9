/** The numbered, forward-only migrations, in order. Add a file and a line; never edit a released one. */
import type { Migration } from 'kysely'
import * as initial from './001-initial.js'
import * as policyAndApprovals from './002-policy-and-approvals.js'
import * as auditVerified from './003-audit-verified.js'
import * as adminRevocation from './004-admin-revocation.js'
import * as delegationGrants from './005-delegation-grants.js'
import * as resourceServers from './006-resource-servers.js'
import * as revocations from './007-revocations.js'
import * as hosts from './008-hosts.js'
import * as sshCertificates from './009-ssh-certificates.js'

export const MIGRATIONS: Record<string, Migration> = {
  '001-initial': initial,
  '002-policy-and-approvals': policyAndApprovals,
  '003-audit-verified': auditVerified,
  '004-admin-revocation': adminRevocation,
  '005-delegation-grants': delegationGrants,
  '006-resource-servers': resourceServers,
  '007-revocations': revocations,
  '008-hosts': hosts,
  '009-ssh-certificates': sshCertificates,
}
