/** The agent backend the `agent` input chooses. */
import type { Config } from '../config.js'
import type { GitHubClients } from '../github/client.js'
import type { AgentPort } from '../loop/ports.js'
import { createT3Agent } from './t3.js'
import { createWorkflowAgent } from './workflow.js'

export function createAgent(
  config: Config,
  deps: { clients: GitHubClients; fetch?: typeof fetch; log?: (message: string) => void }
): AgentPort {
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
