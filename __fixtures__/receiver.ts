/**
 * A loopback webhook receiver for doorbell tests: records every request's raw
 * body and headers, and answers with whatever the test scripts (a status, a
 * hang, or a closed port).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  path: string
  headers: IncomingHttpHeaders
  raw: string
}

export interface Receiver {
  url: string
  received: Received[]
  /** What to answer next: a status code, or 'hang' (never answer). */
  respond: number | 'hang'
  close(): Promise<void>
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = []
  const hanging: (() => void)[] = []
  const receiver: Receiver = {
    url: '',
    received,
    respond: 200,
    close: async () => {
      for (const end of hanging) end()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({
        path: req.url ?? '/',
        headers: req.headers,
        raw: Buffer.concat(chunks).toString('utf8')
      })
      if (receiver.respond === 'hang') {
        hanging.push(() => res.destroy())
        return
      }
      res.writeHead(receiver.respond).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return receiver
}

/** A URL on which nothing listens (connection refused). */
export async function deadUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}/hook`
}
