"""The certsync job: copy certificates from Secrets Manager into Code Engine TLS secrets."""
