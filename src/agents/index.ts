/** The agent backend the `agent` input chooses. */
import type { Config } from '../config.js'
import { createOctokit, type ClientOptions, type GitHubClients } from '../github/client.js'
import type { AgentPort } from '../loop/ports.js'
import { createCopilotAgent } from './copilot.js'
import { createT3Agent } from './t3.js'
import { createWorkflowAgent } from './workflow.js'

export function createAgent(
  config: Config,
  deps: {
    clients: GitHubClients
    fetch?: typeof fetch
    log?: (message: string) => void
    /** Where the Copilot backend's own clients point (the sandbox in tests). */
    clientOptions?: ClientOptions
  }
): AgentPort {
  if (config.agent === 'copilot') {
    return createCopilotAgent({
      copilot: createOctokit(config.copilot.token, deps.clientOptions ?? {}),
      github: deps.clients,
      baseRef: config.copilot.baseRef,
      model: config.copilot.model
    })
  }
  if (config.agent === 'workflow') {
    return createWorkflowAgent({
      clients: deps.clients,
      workflowFile: config.workflow.file,
      ref: config.workflow.ref
    })
  }
  return createT3Agent({
    url: config.t3.url ?? '',
    token: config.t3.token,
    projects: config.t3.projects,
    model: config.t3.model,
    runtimeMode: config.t3.runtimeMode,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.log ? { log: deps.log } : {})
  })
}
