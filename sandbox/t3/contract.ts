/**
 * T3 Code's command contract, transcribed into zod from T3's own Effect
 * schemas (`packages/contracts/src/orchestration.ts`, `baseSchemas.ts`,
 * `providerInstance.ts` in pingdotgg/t3code; see docs/reference/t3-code.md),
 * for the commands the loop sends and the generations it must survive. The
 * sandbox decodes every dispatch with these before anything else, as the real
 * `POST /api/orchestration/dispatch` does (`schemaBodyJson(ClientOrchestrationCommand)`);
 * unknown fields are ignored, as Effect's structs ignore them.
 *
 * Where T3 accepts more than the loop needs (other command types, image
 * attachments, model options' inner shapes), this is stricter, never looser.
 */
import { z } from 'zod'

/** The generations a test can pick: what changed, not every release. */
export const T3_GENERATIONS = ['v0.0.16', 'v0.0.25', 'v0.0.26', 'v0.0.32'] as const
export type T3Generation = (typeof T3_GENERATIONS)[number]

/** What each generation does differently. */
export const GENERATION: Readonly<
  Record<
    T3Generation,
    {
      /** `{provider, model}` only (≤ v0.0.21), or `{instanceId, model}` with legacy `provider` (v0.0.22+). */
      model: 'provider' | 'instance'
      /** HTTP errors: ≤ v0.0.25 (`{error}` bodies, empty 500 for auth) or ≥ v0.0.26 (tagged bodies, 401/403). */
      http: 'legacy' | 'environment'
      /** Projects in the snapshot carry `repositoryIdentity` (gone from v0.0.32's command read model). */
      identityInSnapshot: boolean
      /** `GET /api/orchestration/shell` exists (v0.0.29+). */
      shell: boolean
    }
  >
> = {
  'v0.0.16': { model: 'provider', http: 'legacy', identityInSnapshot: true, shell: false },
  'v0.0.25': { model: 'instance', http: 'legacy', identityInSnapshot: true, shell: false },
  'v0.0.26': { model: 'instance', http: 'environment', identityInSnapshot: true, shell: false },
  'v0.0.32': { model: 'instance', http: 'environment', identityInSnapshot: false, shell: true }
}

/** `TrimmedNonEmptyString`: trimmed on decode, then non-empty. Every entity id is one. */
const trimmedNonEmpty = z.string().trim().min(1)
/** `IsoDateTime` is `Schema.String` in T3: any string. */
const isoDateTime = z.string()
/** `ProviderInstanceId` / `ProviderDriverKind`: a slug of at most 64 characters. */
const providerSlug = trimmedNonEmpty.max(64).regex(/^[a-zA-Z][a-zA-Z0-9_-]*$/)
const options = z.record(z.string(), z.unknown()).optional()

/** ≤ v0.0.21: a union tagged by the driver. */
const providerModelSelection = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('codex'), model: trimmedNonEmpty, options }),
  z.object({ provider: z.literal('claudeAgent'), model: trimmedNonEmpty, options })
])

/**
 * v0.0.22+: `instanceId` routes; a legacy `provider` string is promoted to the
 * instance id when `instanceId` is absent, and ignored when it is present.
 */
const instanceModelSelection = z
  .object({
    provider: z.unknown().optional(),
    instanceId: z.unknown().optional(),
    model: z.unknown(),
    options: z.unknown().optional()
  })
  .transform((raw) => ({
    instanceId:
      raw.instanceId !== undefined
        ? raw.instanceId
        : typeof raw.provider === 'string'
          ? raw.provider
          : undefined,
    model: raw.model,
    ...(raw.options !== undefined ? { options: raw.options } : {})
  }))
  .pipe(z.object({ instanceId: providerSlug, model: trimmedNonEmpty, options }))

const runtimeMode = z.enum(['approval-required', 'auto-accept-edits', 'full-access'])
const interactionMode = z.enum(['default', 'plan'])
const imageAttachment = z.object({
  type: z.literal('image'),
  name: trimmedNonEmpty.max(255),
  mimeType: trimmedNonEmpty.max(100).regex(/^image\//i),
  sizeBytes: z.number().int().min(0),
  dataUrl: trimmedNonEmpty
})

/** The commands the loop sends (and `project.create`, which the sandbox's tests use). */
export function commandSchema(generation: T3Generation) {
  const modelSelection =
    GENERATION[generation].model === 'provider' ? providerModelSelection : instanceModelSelection
  const base = { commandId: trimmedNonEmpty }
  return z.discriminatedUnion('type', [
    z.object({
      type: z.literal('project.create'),
      ...base,
      projectId: trimmedNonEmpty,
      title: trimmedNonEmpty,
      workspaceRoot: trimmedNonEmpty,
      createWorkspaceRootIfMissing: z.boolean().optional(),
      defaultModelSelection: modelSelection.nullable().optional(),
      createdAt: isoDateTime
    }),
    z.object({
      type: z.literal('thread.create'),
      ...base,
      threadId: trimmedNonEmpty,
      projectId: trimmedNonEmpty,
      title: trimmedNonEmpty,
      modelSelection,
      runtimeMode,
      interactionMode: interactionMode.default('default'),
      branch: trimmedNonEmpty.nullable(),
      worktreePath: trimmedNonEmpty.nullable(),
      createdAt: isoDateTime
    }),
    // ClientThreadTurnStartCommand: over HTTP the modes are required.
    z.object({
      type: z.literal('thread.turn.start'),
      ...base,
      threadId: trimmedNonEmpty,
      message: z.object({
        messageId: trimmedNonEmpty,
        role: z.literal('user'),
        text: z.string(),
        attachments: z.array(imageAttachment)
      }),
      modelSelection: modelSelection.optional(),
      titleSeed: trimmedNonEmpty.optional(),
      runtimeMode,
      interactionMode,
      bootstrap: z.unknown().optional(),
      createdAt: isoDateTime
    }),
    z.object({
      type: z.literal('thread.turn.interrupt'),
      ...base,
      threadId: trimmedNonEmpty,
      turnId: trimmedNonEmpty.optional(),
      createdAt: isoDateTime
    }),
    z.object({
      type: z.literal('thread.session.stop'),
      ...base,
      threadId: trimmedNonEmpty,
      createdAt: isoDateTime
    })
  ])
}

export type T3Command = z.infer<ReturnType<typeof commandSchema>>
