"""The gateway's edge: routing to services, the merged API document, rate limits."""
