"""`python -m services.mediation`: run the mediation service."""

from dispatch_common.http import serve
from services.mediation.bootstrap import create
from services.mediation.config import MediationSettings

if __name__ == "__main__":
    settings = MediationSettings()
    serve(create(settings), host=settings.host, port=settings.port)
