import { describe, expect, test } from 'vitest'
import { checkParseSchema, schemaToJson } from '@cedar-policy/cedar-wasm/nodejs'
import { cedarSchemaText, cedarString } from './cedar-schema.js'

describe('cedarSchemaText', () => {
  test('declares each action once, sorted, for Agent principals, Resource resources and the one Context', () => {
    const text = cedarSchemaText(['deploy.run', 'customer.read', 'deploy.run'])
    expect(checkParseSchema(text)).toEqual({ type: 'success' })
    const json = schemaToJson(text)
    if (json.type !== 'success') throw new Error('schema does not convert')
    const writ = json.json.Writ
    expect(Object.keys(writ?.actions ?? {})).toEqual(['customer.read', 'deploy.run'])
    expect(writ?.actions['deploy.run']?.appliesTo).toMatchObject({ principalTypes: ['Agent'], resourceTypes: ['Resource'] })
  })

  test('publishes the stable entity attributes and context members', () => {
    const json = schemaToJson(cedarSchemaText(['a.read']))
    if (json.type !== 'success') throw new Error('schema does not convert')
    const writ = json.json.Writ
    const attributes = (type: string) => Object.keys((writ?.entityTypes[type] as { shape: { attributes: object } }).shape.attributes).sort()
    expect(attributes('Agent')).toEqual(['capabilities', 'name', 'owner', 'platform', 'risk_levels', 'status', 'team'])
    expect(attributes('Human')).toEqual(['groups'])
    expect(attributes('Host')).toEqual(['labels', 'name'])
    expect(attributes('Resource')).toEqual(['id', 'sensitivity', 'type'])
    const context = writ?.commonTypes?.Context as { attributes: Record<string, { required?: boolean }> }
    const members = Object.entries(context.attributes).map(([name, type]) => `${name}${type.required === false ? '?' : ''}`).sort()
    expect(members).toEqual(['access_type', 'audience', 'delegating', 'delegation_depth', 'host?', 'human?', 'resource_server?', 'risk_level', 'source_ip?', 'step_id?', 'target_host?', 'task', 'time'])
    expect(Object.keys((writ?.commonTypes?.Time as { attributes: object }).attributes).sort()).toEqual(['date', 'hour', 'minute', 'weekday'])
  })

  test('escapes action ids that are not plain identifiers', () => {
    const text = cedarSchemaText(['say "hi"\\now\n'])
    expect(checkParseSchema(text)).toEqual({ type: 'success' })
    const json = schemaToJson(text)
    expect(json.type === 'success' && Object.keys(json.json.Writ?.actions ?? {})).toEqual(['say "hi"\\now\n'])
  })

  test('an empty action list is still a schema', () => {
    expect(checkParseSchema(cedarSchemaText([]))).toEqual({ type: 'success' })
  })
})

test('cedarString quotes and escapes', () => {
  expect(cedarString('a"b\\c\u0001')).toBe('"a\\"b\\\\c\\u{1}"')
})
