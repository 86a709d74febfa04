import { StrictMode, useEffect, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App.tsx'
import { createReadClient } from './chain/client.ts'
import { createChainIndexer, errorText } from './chain/indexer.ts'
import { loadConfig } from './config.ts'
import { ConsoleContext, type ConsoleServices } from './hooks.ts'
import './styles.css'

/** Reads `/config.json`, then starts following the chain and renders the console. */
function Root() {
  const [services, setServices] = useState<ConsoleServices | undefined>(undefined)
  const [failure, setFailure] = useState<unknown>(undefined)

  useEffect(() => {
    const controller = new AbortController()
    let started: ConsoleServices | undefined
    loadConfig(controller.signal).then(
      (config) => {
        if (controller.signal.aborted) return
        const client = createReadClient(config)
        started = { config, client, indexer: createChainIndexer({ client }) }
        started.indexer.start()
        setServices(started)
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setFailure(error)
      },
    )
    return () => {
      controller.abort()
      started?.indexer.stop()
    }
  }, [])

  if (failure !== undefined) {
    return (
      <div className="boot">
        <h1>Stoa console</h1>
        <div className="state state-error" data-testid="error" role="alert">
          {errorText(failure)}
        </div>
      </div>
    )
  }
  if (!services) {
    return (
      <div className="boot">
        <div className="state state-loading" data-testid="loading" role="status">
          <span className="spinner" aria-hidden="true" />
          Loading the console…
        </div>
      </div>
    )
  }
  return (
    <ConsoleContext.Provider value={services}>
      <App />
    </ConsoleContext.Provider>
  )
}

const container = document.getElementById('root')
if (!container) throw new Error('index.html has no #root element')
createRoot(container).render(
  <StrictMode>
    <Root />
  </StrictMode>,
)
