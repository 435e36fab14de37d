"""`python -m services.supervision`: run the supervision service."""

from dispatch_common.http import serve
from services.supervision.bootstrap import create
from services.supervision.config import SupervisionSettings

if __name__ == "__main__":
    settings = SupervisionSettings()
    serve(create(settings), host=settings.host, port=settings.port)
