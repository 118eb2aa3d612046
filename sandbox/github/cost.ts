/**
 * What a GraphQL query costs, by GitHub's published formula, and the hourly
 * point budget the loopback GitHub enforces with it.
 *
 * The formula (docs.github.com, "Rate limits and query limits for the GraphQL
 * API", "Calculating a rate limit score before running the call"):
 * 1. For every connection in the query (a field asked with `first` or
 *    `last`), count the requests needed to fill it: the product of the
 *    `first`/`last` values of the connections above it, taken at face value
 *    whether or not that many nodes exist. A top-level connection is 1.
 * 2. Add them up, divide by 100, round to the nearest whole number.
 * 3. The score is at least 1.
 * Worked examples (docs/reference/github-graphql-costs.md, tested in
 * __tests__/sandbox/cost.test.ts): `issues(first:100){ labels(first:50)
 * comments(first:50) }` = 1 + 100 + 100 = 201 requests = 2 points;
 * `repositories(first:100){ issues(first:50){ labels(first:60) } }`
 * = 1 + 100 + 5,000 = 5,101 requests = 51 points.
 *
 * The walk resolves what the server resolves before executing: variables,
 * `@include`/`@skip`, fragments (named and inline). A field that is not a
 * connection (`node`, `nodes(ids:)`, `repository`, `issue(number:)`) adds no
 * request and multiplies nothing. Node counts (the nodes a query may return,
 * limit 500,000) are the same walk with the page sizes multiplied out; a
 * connection asked without `first`/`last` is refused, as GitHub does.
 *
 * When the budget runs out GitHub answers HTTP 200 with
 * `{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for …"}]}`
 * and `x-ratelimit-remaining: 0` (see the reference doc for the sources and
 * the `RATE_LIMIT` variant seen in 2026).
 */
import {
  Kind,
  getNamedType,
  isObjectType,
  isInterfaceType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValueNode,
  type DirectiveNode,
  type OperationDefinitionNode
} from 'graphql'

export interface QueryCost {
  /** Requests needed to fill every connection (before dividing by 100). */
  requests: number
  /** Nodes the query may return at most. */
  nodes: number
  /** GitHub's score: max(1, round(requests / 100)). */
  cost: number
}

/** GitHub's node limit per query. */
export const NODE_LIMIT = 500_000

/** GitHub's score for a number of requests. */
export function score(requests: number): number {
  return Math.max(1, Math.round(requests / 100))
}

function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  switch (node.kind) {
    case Kind.VARIABLE:
      return variables[node.name.value]
    case Kind.INT:
      return Number(node.value)
    case Kind.BOOLEAN:
      return node.value
    case Kind.NULL:
      return null
    default:
      return undefined
  }
}

function included(
  directives: readonly DirectiveNode[] | undefined,
  variables: Record<string, unknown>
): boolean {
  for (const d of directives ?? []) {
    const arg = d.arguments?.find((a) => a.name.value === 'if')
    const value = arg ? valueOf(arg.value, variables) : undefined
    if (d.name.value === 'include' && value === false) return false
    if (d.name.value === 'skip' && value === true) return false
  }
  return true
}

/**
 * The cost of one operation of a parsed (and validated) document. Throws an
 * Error with GitHub's wording when a connection has no `first`/`last`.
 */
export function queryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> = {},
  operationName?: string
): QueryCost {
  const fragments = new Map<string, FragmentDefinitionNode>()
  const operations: OperationDefinitionNode[] = []
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d)
    if (d.kind === Kind.OPERATION_DEFINITION) operations.push(d)
  }
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations[0]
  if (!operation) return { requests: 0, nodes: 0, cost: 1 }
  const root = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType()
  let requests = 0
  let nodes = 0

  const walk = (
    set: SelectionSetNode | undefined,
    type: GraphQLCompositeType | null,
    multiplier: number
  ): void => {
    if (!set) return
    for (const selection of set.selections) {
      if (!included(selection.directives, variables)) continue
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition
          ? (schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType)
          : type
        walk(selection.selectionSet, on, multiplier)
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value)
        if (!fragment) continue
        const on = schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType
        walk(fragment.selectionSet, on, multiplier)
      } else {
        field(selection, type, multiplier)
      }
    }
  }

  const field = (node: FieldNode, parent: GraphQLCompositeType | null, multiplier: number) => {
    const definition =
      parent && (isObjectType(parent) || isInterfaceType(parent))
        ? parent.getFields()[node.name.value]
        : undefined
    const type = definition ? getNamedType(definition.type) : null
    const composite = type && 'getFields' in type ? (type as GraphQLCompositeType) : null
    const arg = (name: string) => {
      const a = node.arguments?.find((x) => x.name.value === name)
      const v = a ? valueOf(a.value, variables) : undefined
      return typeof v === 'number' ? v : null
    }
    const isConnection = !!type && /Connection$/.test(type.name)
    const size = arg('first') ?? arg('last')
    if (isConnection) {
      if (size === null) {
        throw new Error(
          `You must provide a \`first\` or \`last\` value to properly paginate the \`${node.name.value}\` connection.`
        )
      }
      requests += multiplier
      nodes += multiplier * size
      walk(node.selectionSet, composite, multiplier * size)
    } else {
      walk(node.selectionSet, composite, multiplier)
    }
  }

  walk(operation.selectionSet, root ?? null, 1)
  return { requests, nodes, cost: score(requests) }
}

/** One token's hourly point budget (GitHub: 1,000 for GITHUB_TOKEN per repository, 5,000 for a user). */
export class PointBudget {
  used = 0
  resetAt: number

  constructor(
    readonly limit: number,
    private readonly now: () => number
  ) {
    this.resetAt = now() + 3600_000
  }

  /** Start a new hour if the last one is over. */
  private roll(): void {
    const now = this.now()
    if (now >= this.resetAt) {
      this.used = 0
      this.resetAt = now + 3600_000
    }
  }

  get remaining(): number {
    this.roll()
    return Math.max(0, this.limit - this.used)
  }

  /** Charge a query's cost; false (nothing charged) when it doesn't fit. */
  charge(cost: number): boolean {
    this.roll()
    if (this.used + cost > this.limit) return false
    this.used += cost
    return true
  }

  /** The `x-ratelimit-*` headers GitHub sends with every GraphQL answer. */
  headers(): Record<string, string> {
    const remaining = this.remaining
    return {
      'x-ratelimit-limit': String(this.limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-used': String(this.used),
      'x-ratelimit-reset': String(Math.floor(this.resetAt / 1000)),
      'x-ratelimit-resource': 'graphql'
    }
  }
}
