"""``casefile serve``: the investigation service behind the Zendesk sidebar and webhook.

Modules:

=============  ===============================================================
``app``        the FastAPI application (:func:`casefile.agent.service.app.create_app`): wiring only
``routes``     the routes, one module a resource: ``investigations``, ``feedback``, ``webhooks``,
               ``health`` (and the sidebar page)
``runtime``    the service's state and work: submit, run, deliver the note, views, SSE streams
``deps``       what routes depend on: the service, the authenticated caller, an investigation
``schemas``    request and response bodies (the OpenAPI description)
``errors``     the JSON error contract; ``bodylimit`` the request size limit
``auth``       bearer tokens, Zendesk app JWTs, rate limits
``worker``     durable work: claims investigations (and notes) from the store under renewed leases,
               on-demand before background
``links``      where a person can see each tool call's source
``cli``        registers the ``serve`` command (kept import-light)
=============  ===============================================================

The helpdesk itself (read a ticket, verify its webhook, post the note) is ``casefile.agent.helpdesk``.

Nothing here is imported by ``casefile --help``; FastAPI and uvicorn load only
when the service starts.
"""
