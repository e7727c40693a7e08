"""Pushing the store's users and access to a SCIM 2.0 directory: needs the `scim` extra.

client   one SCIM service provider over httpx: paged reads, If-Match, Retry-After
push     `scim plan` and `scim apply` as one call each
"""
