/**
 * Every GraphQL document the adapter can send validates against GitHub's
 * schema, and every REST route the code calls exists, with that method, in
 * GitHub's OpenAPI description — checked here, not discovered in production.
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { validate } from '@octokit/graphql-schema'
import {
  COMMENTS_QUERY,
  COMMENT_BODY_QUERY,
  NOTICE_QUERY,
  OWN_PULLS_QUERY,
  PULLS_QUERY,
  TRUNK_QUERY,
  changeMutation,
  rollupQuery,
  worldQuery,
  type MutationParts
} from '../../src/github/queries.js'
import { matchRoute } from '../../sandbox/github/server.js'

/** Every combination of a run change's parts. */
function allMutationShapes(): MutationParts[] {
  const shapes: MutationParts[] = []
  for (let bits = 1; bits < 32; bits++) {
    const parts: MutationParts = {
      addComment: (bits & 1) !== 0,
      updateComment: (bits & 2) !== 0,
      addLabels: (bits & 4) !== 0,
      removeLabels: (bits & 8) !== 0,
      close: (bits & 16) !== 0
    }
    if (parts.addComment && parts.updateComment) continue
    shapes.push(parts)
  }
  return shapes
}

describe('GraphQL documents', () => {
  it.each([
    ['COMMENTS_QUERY', COMMENTS_QUERY],
    ['COMMENT_BODY_QUERY', COMMENT_BODY_QUERY],
    ['NOTICE_QUERY', NOTICE_QUERY],
    ['TRUNK_QUERY', TRUNK_QUERY],
    ['PULLS_QUERY', PULLS_QUERY],
    ['OWN_PULLS_QUERY', OWN_PULLS_QUERY]
  ])('%s validates against GitHub’s schema', (_name, document) => {
    expect(validate(document).map((e) => e.message)).toEqual([])
  })

  it('every world request shape validates: census parts, details, both, several repositories', () => {
    const shapes = [
      { repos: [{ first: true, inProgress: null, tracked: null }], details: false },
      { repos: [{ first: true, inProgress: null, tracked: null }, null], details: true },
      { repos: [null, { first: false, inProgress: 'c' }], details: true },
      { repos: [{ first: false, tracked: 'c' }], details: false },
      { repos: [], details: true },
      {
        repos: Array.from({ length: 10 }, () => ({ first: true, inProgress: null, tracked: null })),
        details: false
      }
    ]
    for (const shape of shapes)
      expect({ shape, errors: validate(worldQuery(shape)).map((e) => e.message) }).toEqual({
        shape,
        errors: []
      })
  })

  it('the rollup follow-up validates for one and for many commits', () => {
    for (const n of [1, 7]) expect(validate(rollupQuery(n)).map((e) => e.message)).toEqual([])
  })

  it('every mutation shape validates', () => {
    const shapes = allMutationShapes()
    expect(shapes).toHaveLength(23)
    for (const shape of shapes)
      expect(validate(changeMutation(shape)).map((e) => e.message)).toEqual([])
  })

  it('the validator does reject what GitHub would', () => {
    expect(validate('query { viewer { notAField } }')).not.toHaveLength(0)
  })
})

describe('REST routes', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []
    )
  const routes = files('src').flatMap((file) =>
    [
      ...readFileSync(file, 'utf8').matchAll(/request\(\s*'(GET|POST|PUT|PATCH|DELETE) ([^']+)'/g)
    ].map((m) => ({
      file,
      method: m[1] ?? '',
      path: m[2] ?? ''
    }))
  )

  it('are found in the source', () => {
    expect(routes.length).toBeGreaterThanOrEqual(7)
  })

  it('all exist with their method in GitHub’s OpenAPI description', () => {
    for (const route of routes) {
      const concrete = route.path.replace(/\{[^}]+\}/g, 'x1')
      expect({
        route: `${route.method} ${route.path}`,
        match: matchRoute(route.method, concrete)
      }).toEqual({
        route: `${route.method} ${route.path}`,
        match: { template: route.path }
      })
    }
  })
})
