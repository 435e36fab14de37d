"""`python -m services.routing`: run the routing service."""

from dispatch_common.http import serve
from services.routing.bootstrap import create
from services.routing.config import RoutingSettings

if __name__ == "__main__":
    settings = RoutingSettings()
    serve(create(settings), host=settings.host, port=settings.port)
