"""Commands that run and manage campaigns: run, agent, status, dashboard, store, cluster."""
