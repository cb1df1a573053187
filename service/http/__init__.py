"""The HTTP stage: the route table, middlewares, problem answers, OpenAPI,
CORS, the client's address, reading bodies, and the views that read HTTP and
answer HTTP (the public API, moderation, the pages and their static files)."""
