"""`python -m services.intake`: run the intake service."""

from dispatch_common.http import serve
from services.intake.bootstrap import create
from services.intake.config import IntakeSettings

if __name__ == "__main__":
    settings = IntakeSettings()
    serve(create(settings), host=settings.host, port=settings.port)
