"""The loaded county package and the routing decision made with it."""

from pathlib import Path

from services.routing.domain.classify import Classifier
from services.routing.domain.county import CountyPackage
from services.routing.domain.decide import decide
from services.routing.domain.geo import Locator
from services.routing.domain.models import RouteDecision, RouteRequest


class RoutingEngine:
    """A validated county package with its locator and classifier, ready to decide."""

    def __init__(self, package: CountyPackage) -> None:
        self.package = package
        self.locator = Locator(package)
        self.classifier = Classifier(package)

    @classmethod
    def from_dir(cls, path: Path) -> "RoutingEngine":
        """Load and validate a county package directory."""
        return cls(CountyPackage.from_dir(path))

    @property
    def version(self) -> str:
        """The package's content hash."""
        return self.package.version

    def decide(self, request: RouteRequest) -> RouteDecision:
        """The routing decision for one request."""
        return decide(request, self.package, self.locator, self.classifier)
