"""The certsync trigger: acknowledges Event Notifications webhooks and submits the sync job run."""
