"""The loaded county package and the routing decision made with it."""

import copy
from collections.abc import Sequence
from pathlib import Path

from services.routing.domain.classify import Classifier
from services.routing.domain.confidential import decide_confidential
from services.routing.domain.county import CountyPackage
from services.routing.domain.decide import decide
from services.routing.domain.geo import Locator
from services.routing.domain.learned import Example, LearnedClassifier
from services.routing.domain.learned_places import LearnedPlaces, PlaceExample
from services.routing.domain.models import CategoryChoice, Jurisdiction, RouteDecision, RouteRequest


class CombinedClassifier:
    """The lexicon first; the learned model where the lexicon is unsure and the model is sure enough."""

    def __init__(
        self, package: CountyPackage, lexicon: Classifier, learned: LearnedClassifier | None
    ) -> None:
        self.lexicon, self.learned = lexicon, learned
        self._threshold = package.rules.manual_confidence_threshold
        self._min_probability = package.rules.learning.min_probability

    def prepare(self, text: str | None) -> str:
        """The text phrases are matched against."""
        return self.lexicon.prepare(text)

    def classify(self, text: str | None) -> CategoryChoice:
        """The lexicon's choice unless it is unsure and the model is surer (and above its minimum)."""
        choice = self.lexicon.classify(text)
        if self.learned is None or (choice.code is not None and choice.confidence >= self._threshold):
            return choice
        guess = self.learned.classify(text)
        if (
            guess.code is not None
            and guess.confidence >= self._min_probability
            and guess.confidence > choice.confidence
        ):
            return guess
        return choice


class RoutingEngine:
    """A validated county package with its locator and classifiers, ready to decide."""

    def __init__(self, package: CountyPackage, learned: LearnedClassifier | None = None) -> None:
        self.package = package
        self.locator = Locator(package)
        self.lexicon = Classifier(package)
        self.learned = learned
        self.classifier = CombinedClassifier(package, self.lexicon, learned)
        self.places = LearnedPlaces(())

    @classmethod
    def from_dir(cls, path: Path) -> "RoutingEngine":
        """Load and validate a county package directory."""
        return cls(CountyPackage.from_dir(path))

    @property
    def version(self) -> str:
        """The package's content hash."""
        return self.package.version

    def train(self, examples: Sequence[Example]) -> "RoutingEngine":
        """A new engine on the same package with a model learned from these examples (or none when
        there are fewer than the package's minimum); the learned places stay."""
        learned = None
        if len(examples) >= self.package.rules.learning.min_examples:
            learned = LearnedClassifier.train(
                examples, self.lexicon.prepare, self.package.taxonomy.first_level
            )
        engine = copy.copy(self)
        engine.learned = learned
        engine.classifier = CombinedClassifier(self.package, self.lexicon, learned)
        return engine

    def learn_places(self, places: Sequence[PlaceExample]) -> "RoutingEngine":
        """A new engine with the place names learned from these examples (the model stays)."""
        engine = copy.copy(self)
        engine.places = LearnedPlaces.learn(
            places, lambda name: self.locator.locate_address(name) is not None
        )
        return engine

    def decide(
        self,
        request: RouteRequest,
        *,
        exclude_units: frozenset[str] = frozenset(),
        category: CategoryChoice | None = None,
        jurisdiction: Jurisdiction | None = None,
    ) -> RouteDecision:
        """The routing decision for one request (see domain.decide for the corrections it takes); a
        confidential report is decided by its own rule (domain.confidential)."""
        if request.confidential:
            return decide_confidential(self.package, exclude_units=exclude_units, category=category)
        return decide(
            request,
            self.package,
            self.locator,
            self.classifier,
            exclude_units=exclude_units,
            category=category,
            jurisdiction=jurisdiction,
            learned_places=self.places,
        )
