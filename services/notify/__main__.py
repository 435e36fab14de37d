"""`python -m services.notify`: run the notify service."""

from dispatch_common.http import serve
from services.notify.bootstrap import create
from services.notify.config import NotifySettings

if __name__ == "__main__":
    settings = NotifySettings()
    serve(create(settings), host=settings.host, port=settings.port)
