"""`python -m deploy`: install certsync on IBM Cloud from `certsync.yaml`, check it, remove it."""
