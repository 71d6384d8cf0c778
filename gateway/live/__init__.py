"""Live subscriptions: shared upstream polling, pushed to subscribers on change."""
