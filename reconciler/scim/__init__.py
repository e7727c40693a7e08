"""The SCIM wing: pushing the store's users and access to a SCIM 2.0 directory (the `scim` extra).

profiles     what each provider allows (members a PATCH, writes a minute and an hour, paging, ...)
records      plain records of a push: users and groups wanted and read, the requests between
planning     pure: what the directory should hold for a snapshot, and the requests to get there
rendering    a push plan as text, markdown and JSON
budget       the writes a push may send, a minute and an hour, shared by its workers
client       one SCIM service provider over httpx: paged reads by index or cursor, If-Match, Retry-After
push         `scim plan` and `scim apply` as one call each, K requests at once
probe        `scim probe`: what a provider's ServiceProviderConfig says, and how a push would page it
"""
