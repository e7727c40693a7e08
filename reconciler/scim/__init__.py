"""The SCIM wing: pushing the store's users and access to a SCIM 2.0 directory (the `scim` extra).

records      plain records of a push: users and groups wanted and read, the requests between
planning     pure: what the directory should hold for a snapshot, and the requests to get there
rendering    a push plan as text, markdown and JSON
client       one SCIM service provider over httpx: paged reads, If-Match, Retry-After
push         `scim plan` and `scim apply` as one call each
"""
