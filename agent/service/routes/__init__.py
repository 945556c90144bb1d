"""The service's routes, one module a resource; :func:`casefile.agent.service.app.create_app` includes them."""
