/** Translates an AuthorizationRequest into Cedar's principal, action, resource, entities and context (see cedar-schema.ts). */
import { isIP } from 'node:net'
import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs'
import type { Agent, AgentDocument } from '../agents/agent-document.js'
import { attributeKey, project, type Needs } from './attribute-needs.js'
import { ACTION_TYPE, AGENT_TYPE, HOST_TYPE, HUMAN_TYPE, RESOURCE_TYPE } from './cedar-schema.js'
import { resourceTypeOf, type AccessType, type Sensitivity } from './permission-boundary.js'
import type { AuthorizationRequest } from './policy-engine.js'

export interface CedarRequest {
  principal: { type: string; id: string }
  action: { type: string; id: string }
  resource: { type: string; id: string }
  context: Record<string, CedarValueJson>
  entities: EntityJson[]
}

/** What the boundary established about the request, which Cedar sees as attributes. */
export interface BoundaryFacts {
  riskLevel: string
  accessType: AccessType
  sensitivity: Sensitivity
}

export interface ZonedTime {
  hour: number
  minute: number
  /** Lowercase English name: `monday` … `sunday`. */
  weekday: string
  /** YYYY-MM-DD */
  date: string
}

/** Wall-clock time in one IANA time zone; the formatter is built once and recent minutes are cached. */
export class ZonedClock {
  private readonly format: Intl.DateTimeFormat
  // Formatting costs microseconds; live traffic reads the current minute, what-if replays and benchmarks many minutes.
  private readonly minutes = new Map<number, Readonly<ZonedTime>>()

  /** Throws RangeError for an unknown time zone. */
  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', weekday: 'long', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    })
  }

  // Every zone's offset is a whole number of minutes for modern dates, so the wall clock only changes per minute.
  at(timeMs: number): Readonly<ZonedTime> {
    const minute = Math.floor(timeMs / 60_000)
    const cached = this.minutes.get(minute)
    if (cached !== undefined) return cached
    const parts: Record<string, string> = {}
    for (const part of this.format.formatToParts(timeMs)) parts[part.type] = part.value
    const time = Object.freeze({
      hour: Number(parts.hour),
      minute: Number(parts.minute),
      weekday: (parts.weekday ?? '').toLowerCase(),
      date: `${parts.year}-${parts.month}-${parts.day}`,
    })
    if (this.minutes.size >= MAX_CACHED_MINUTES) this.minutes.clear()
    this.minutes.set(minute, time)
    return time
  }
}

const MAX_CACHED_MINUTES = 4_096

/**
 * The address as Cedar's `ip()` accepts it, or undefined when it cannot be one. Node reports IPv4 clients of a
 * dual-stack socket as `::ffff:a.b.c.d`, which Cedar refuses; they are the IPv4 address, so they become it.
 */
export function cedarIp(address: string): string | undefined {
  let ip = address.trim()
  const zone = ip.indexOf('%')
  if (zone !== -1) ip = ip.slice(0, zone)
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)
  if (mapped?.[1] !== undefined) ip = mapped[1]
  const family = isIP(ip)
  if (family === 0 || (family === 6 && ip.includes('.'))) return undefined
  return ip
}

/** The full Cedar request (every attribute), as the whole-set reference evaluation and the benchmark baseline use it. */
export function fullCedarRequest(request: AuthorizationRequest, facts: BoundaryFacts, time: Readonly<ZonedTime>, sourceIp: string | undefined): CedarRequest {
  const entities: EntityJson[] = [agentEntity(request.agent, true), resourceEntity(request.resource, facts.sensitivity, true)]
  if (request.human !== undefined) entities.push(humanEntity(request.human))
  if (request.targetHost !== undefined) entities.push(hostEntity(request.targetHost))
  return {
    principal: { type: AGENT_TYPE, id: request.agent.id },
    action: { type: ACTION_TYPE, id: request.action },
    resource: { type: RESOURCE_TYPE, id: request.resource },
    context: fullContext(request, facts, time, sourceIp),
    entities,
  }
}

/** The request carrying only what `needs` names. */
export function projectedCedarRequest(
  request: AuthorizationRequest, facts: BoundaryFacts, time: Readonly<ZonedTime>, sourceIp: string | undefined, needs: Needs,
): CedarRequest {
  const context = project(fullContext(request, facts, time, sourceIp), needs.context) as Record<string, CedarValueJson>
  const entities: EntityJson[] = []
  if (needs.principal === true || needs.principal.size > 0) entities.push(agentEntity(request.agent, needs.principal))
  if (needs.resource === true || needs.resource.size > 0) entities.push(resourceEntity(request.resource, facts.sensitivity, needs.resource))
  if (request.human !== undefined && context.human !== undefined) entities.push(humanEntity(request.human))
  if (request.targetHost !== undefined && context.target_host !== undefined) entities.push(hostEntity(request.targetHost))
  return {
    principal: { type: AGENT_TYPE, id: request.agent.id },
    action: { type: ACTION_TYPE, id: request.action },
    resource: { type: RESOURCE_TYPE, id: request.resource },
    context,
    entities,
  }
}

function fullContext(request: AuthorizationRequest, facts: BoundaryFacts, time: Readonly<ZonedTime>, sourceIp: string | undefined): Record<string, CedarValueJson> {
  const task: Record<string, CedarValueJson> = { id: request.task.id }
  if (request.task.purpose !== undefined) task.purpose = request.task.purpose
  const context: Record<string, CedarValueJson> = {
    time: time as unknown as Record<string, CedarValueJson>,
    task,
    delegation_depth: request.delegationDepth ?? 0,
    delegating: request.delegating === true,
    risk_level: facts.riskLevel,
    access_type: facts.accessType,
    // Always present, as the schema says: an empty string only for hand-built requests that name no audience.
    audience: request.audience ?? '',
  }
  if (request.resourceServer !== undefined) context.resource_server = request.resourceServer
  if (sourceIp !== undefined) context.source_ip = { __extn: { fn: 'ip', arg: sourceIp } }
  if (request.host !== undefined) context.host = request.host
  if (request.task.step !== undefined) context.step_id = request.task.step
  if (request.human !== undefined) context.human = { __entity: { type: HUMAN_TYPE, id: request.human.id } }
  if (request.targetHost !== undefined) context.target_host = { __entity: { type: HOST_TYPE, id: request.targetHost.name } }
  return context
}

interface AgentEntities {
  id: string
  status: string
  name: string
  byKey: Map<string, EntityJson>
}

// Agent entities change only with a new document (or status), so they are built once per document and projection.
const agentEntities = new WeakMap<AgentDocument, AgentEntities>()

function agentEntity(agent: Agent, need: true | Set<string>): EntityJson {
  let cache = agentEntities.get(agent.document)
  if (cache === undefined || cache.id !== agent.id || cache.status !== agent.status || cache.name !== agent.name) {
    cache = { id: agent.id, status: agent.status, name: agent.name, byKey: new Map() }
    agentEntities.set(agent.document, cache)
  }
  const key = attributeKey(need)
  const cached = cache.byKey.get(key)
  if (cached !== undefined) return cached
  const { document } = agent
  const attrs: Record<string, CedarValueJson> = {
    name: agent.name,
    owner: document.owner,
    team: document.team,
    platform: document.platform,
    status: agent.status,
    capabilities: document.capabilities.map((capability) => capability.id),
    risk_levels: [...new Set(document.capabilities.map((capability) => capability.risk_level))],
  }
  const entity: EntityJson = { uid: { type: AGENT_TYPE, id: agent.id }, attrs: project(attrs, treeOf(need)) as Record<string, CedarValueJson>, parents: [] }
  cache.byKey.set(key, entity)
  return entity
}

function resourceEntity(resource: string, sensitivity: Sensitivity, need: true | Set<string>): EntityJson {
  const attrs: Record<string, CedarValueJson> = {}
  if (need === true || need.has('type')) attrs.type = resourceTypeOf(resource)
  if (need === true || need.has('id')) attrs.id = resource
  if (need === true || need.has('sensitivity')) attrs.sensitivity = sensitivity
  return { uid: { type: RESOURCE_TYPE, id: resource }, attrs, parents: [] }
}

function humanEntity(human: { id: string; groups: string[] }): EntityJson {
  return { uid: { type: HUMAN_TYPE, id: human.id }, attrs: { groups: [...human.groups] }, parents: [] }
}

function hostEntity(host: { name: string; labels: string[] }): EntityJson {
  return { uid: { type: HOST_TYPE, id: host.name }, attrs: { name: host.name, labels: [...host.labels] }, parents: [] }
}

function treeOf(need: true | Set<string>): true | Map<string, true> {
  return need === true ? true : new Map([...need].map((name) => [name, true]))
}
