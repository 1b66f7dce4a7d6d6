"""The tavorite AMXO4Z composition space: site rules and charge balance -> candidates.

The space is data, not code: a YAML file maps each site (A, M, X, Z) to ``element: oxidation
state``; every charge-balanced combination is a :class:`Candidate`. The default file ships with the
package (``workflows/data/default_space.yaml``, 318 compositions); users pass their own.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pymatgen.core.periodic_table import Element

from workflows.errors import SpaceFileError, UnknownCompositionError

__all__ = [
    "SITES",
    "Candidate",
    "CompositionSpace",
    "default_space",
    "load_space",
]

SITES = ("A", "M", "X", "Z")
#: Anions allowed on the Z site other than single elements; OH is one formula unit of hydroxide.
MOLECULAR_ANIONS = {"OH": ("O", "H")}
DEFAULT_SPACE_FILE = "default_space.yaml"


@dataclass(frozen=True, order=True)
class Candidate:
    """One AMXO4Z composition with the oxidation state of each site.

    Parameters
    ----------
    carrier, m, x, z : str
        Elements on the A, M, X and Z sites (``z`` may be ``"OH"``).
    ox_a, ox_m, ox_x, ox_z : int
        Formal oxidation states; they sum with ``framework_oxygen * -2`` to zero.
    framework_oxygen : int, default=4
        Number of O per formula unit in the XO4 polyanion.
    """

    carrier: str
    m: str
    x: str
    z: str
    ox_a: int
    ox_m: int
    ox_x: int
    ox_z: int
    framework_oxygen: int = 4

    @property
    def id(self) -> str:
        """Stable readable ID, for example ``Na-Ga-P-F``."""
        return f"{self.carrier}-{self.m}-{self.x}-{self.z}"

    @property
    def formula(self) -> str:
        """Reduced formula as chemists write it: ``NaGaPO4F``, ``LiTiAsO5``, ``LiAlPO4(OH)``."""
        if self.z == "O":
            return f"{self.carrier}{self.m}{self.x}O{self.framework_oxygen + 1}"
        z = f"({self.z})" if len(_elements_of(self.z)) > 1 else self.z
        return f"{self.carrier}{self.m}{self.x}O{self.framework_oxygen}{z}"

    @property
    def sites(self) -> dict[str, str]:
        """Site label -> species (``{"A": "Na", "M": "Ga", "X": "P", "Z": "F"}``)."""
        return {"A": self.carrier, "M": self.m, "X": self.x, "Z": self.z}

    @property
    def oxidation_states(self) -> dict[str, int]:
        """Site label -> formal oxidation state."""
        return {"A": self.ox_a, "M": self.ox_m, "X": self.ox_x, "Z": self.ox_z}

    @property
    def charge(self) -> int:
        """Net formal charge per formula unit (zero for every valid candidate)."""
        return self.ox_a + self.ox_m + self.ox_x + self.ox_z - 2 * self.framework_oxygen

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly record used by the CLI and the results database."""
        return {
            "id": self.id,
            "formula": self.formula,
            "A": self.carrier,
            "M": self.m,
            "X": self.x,
            "Z": self.z,
            "ox_A": self.ox_a,
            "ox_M": self.ox_m,
            "ox_X": self.ox_x,
            "ox_Z": self.ox_z,
        }


@dataclass(frozen=True)
class CompositionSpace:
    """An ordered, indexed set of candidates read from one space file."""

    name: str
    candidates: tuple[Candidate, ...]
    source: str

    def __len__(self) -> int:
        return len(self.candidates)

    def __iter__(self):
        return iter(self.candidates)

    def __contains__(self, candidate_id: object) -> bool:
        return candidate_id in self._index

    @property
    def _index(self) -> dict[str, Candidate]:
        return _index_of(self.candidates)

    @property
    def ids(self) -> list[str]:
        """Candidate IDs in enumeration order."""
        return [c.id for c in self.candidates]

    def get(self, candidate_id: str) -> Candidate:
        """Return the candidate with this ID.

        Raises
        ------
        UnknownCompositionError
            If the ID is not in the space; the message suggests the closest IDs.
        """
        try:
            return self._index[candidate_id]
        except KeyError:
            import difflib

            near = difflib.get_close_matches(candidate_id, self.ids, n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise UnknownCompositionError(
                f"unknown composition {candidate_id!r}: not in space {self.name!r} "
                f"({len(self)} compositions, IDs look like 'Na-Ga-P-F'){hint}"
            ) from None

    def filter(self, **site_elements: str | None) -> list[Candidate]:
        """Candidates whose sites match, e.g. ``filter(A="Na", Z="F")`` (None = any)."""
        wanted = {k: v for k, v in site_elements.items() if v is not None}
        unknown = set(wanted) - set(SITES)
        if unknown:
            raise SpaceFileError(f"unknown site(s) {sorted(unknown)}; sites are {list(SITES)}")
        return [c for c in self.candidates if all(c.sites[k] == v for k, v in wanted.items())]


@cache
def _index_of(candidates: tuple[Candidate, ...]) -> dict[str, Candidate]:
    return {c.id: c for c in candidates}


def _elements_of(species: str) -> tuple[str, ...]:
    return MOLECULAR_ANIONS.get(species, (species,))


def _check_species(site: str, species: object, ox: object, where: str) -> None:
    """Reject an entry that is not a real element (or OH on Z) with an integer oxidation state."""
    if not isinstance(species, str):
        raise SpaceFileError(f"{where}: site {site} entry {species!r} must be an element symbol")
    for el in _elements_of(species) if site == "Z" else (species,):
        if not Element.is_valid_symbol(el):
            raise SpaceFileError(
                f"{where}: site {site} entry {species!r} is not a chemical element"
                + (" (Z also allows OH)" if site == "Z" else "")
            )
    if isinstance(ox, bool) or not isinstance(ox, int):
        raise SpaceFileError(
            f"{where}: site {site} entry {species}: oxidation state {ox!r} must be an integer"
        )
    sign_ok = ox < 0 if site == "Z" else ox > 0
    if not sign_ok:
        kind = "negative (an anion)" if site == "Z" else "positive (a cation)"
        raise SpaceFileError(
            f"{where}: site {site} entry {species}: oxidation state {ox} must be {kind}"
        )


def _parse_sites(data: dict[str, Any], where: str) -> dict[str, dict[str, int]]:
    sites = data.get("sites")
    if not isinstance(sites, dict):
        raise SpaceFileError(f"{where}: missing mapping 'sites' with keys {list(SITES)}")
    missing = [s for s in SITES if s not in sites]
    extra = [s for s in sites if s not in SITES]
    if missing or extra:
        raise SpaceFileError(
            f"{where}: 'sites' must have exactly the keys {list(SITES)}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unknown {extra}" if extra else "")
        )
    parsed: dict[str, dict[str, int]] = {}
    for site in SITES:
        entries = sites[site]
        if not isinstance(entries, dict) or not entries:
            raise SpaceFileError(
                f"{where}: site {site} must map element -> oxidation state, got {entries!r}"
            )
        for species, ox in entries.items():
            _check_species(site, species, ox, where)
        parsed[site] = dict(entries)
    return parsed


def _explicit_candidates(
    data: dict[str, Any], sites: dict[str, dict[str, int]], n_o: int, where: str
) -> list[Candidate]:
    """Validate an optional explicit ``compositions:`` list (each entry must be balanced)."""
    out = []
    for i, entry in enumerate(data.get("compositions") or []):
        label = f"{where}: compositions[{i}] {entry!r}"
        if not isinstance(entry, dict) or set(entry) != set(SITES):
            raise SpaceFileError(f"{label} must be a mapping with keys {list(SITES)}")
        for site in SITES:
            if entry[site] not in sites[site]:
                raise SpaceFileError(
                    f"{label}: {entry[site]!r} is not listed on site {site} in 'sites'"
                )
        cand = Candidate(
            entry["A"], entry["M"], entry["X"], entry["Z"],
            sites["A"][entry["A"]], sites["M"][entry["M"]],
            sites["X"][entry["X"]], sites["Z"][entry["Z"]], n_o,
        )  # fmt: skip
        if cand.charge != 0:
            raise SpaceFileError(
                f"{label} breaks charge balance: ox(A)+ox(M)+ox(X)-2*{n_o}+ox(Z) = "
                f"{cand.charge:+d}, must be 0"
            )
        out.append(cand)
    return out


def parse_space(data: Any, where: str = "<space>") -> CompositionSpace:
    """Build a space from parsed YAML; see ``workflows/data/default_space.yaml`` for the format.

    Raises
    ------
    SpaceFileError
        Naming the entry and the rule it breaks.
    """
    if not isinstance(data, dict):
        raise SpaceFileError(f"{where}: expected a YAML mapping at the top level")
    n_o = data.get("framework_oxygen", 4)
    if isinstance(n_o, bool) or not isinstance(n_o, int) or n_o < 1:
        raise SpaceFileError(f"{where}: framework_oxygen must be a positive integer, got {n_o!r}")
    sites = _parse_sites(data, where)
    if "compositions" in data:
        candidates = _explicit_candidates(data, sites, n_o, where)
    else:
        candidates = [
            Candidate(a, m, x, z, sites["A"][a], sites["M"][m], sites["X"][x], sites["Z"][z], n_o)
            for a, z, m, x in itertools.product(sites["A"], sites["Z"], sites["M"], sites["X"])
        ]
        candidates = [c for c in candidates if c.charge == 0]
    if not candidates:
        raise SpaceFileError(f"{where}: no charge-balanced composition can be formed")
    ids = [c.id for c in candidates]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SpaceFileError(f"{where}: duplicate compositions {dupes}")
    return CompositionSpace(str(data.get("name", where)), tuple(candidates), where)


def load_space(path: str | Path | None = None) -> CompositionSpace:
    """Read a space file (YAML); ``None`` gives the packaged default space (318 compositions).

    Raises
    ------
    SpaceFileError
        If the file is missing, is not valid YAML, or an entry breaks a rule.
    """
    if path is None:
        return default_space()
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpaceFileError(f"cannot read space file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpaceFileError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_space(data, str(path))


@cache
def default_space() -> CompositionSpace:
    """The packaged default space: A in {Li, Na}, Z in {F, OH, O}; 159 per carrier, 318 in all."""
    text = resources.files("workflows.data").joinpath(DEFAULT_SPACE_FILE).read_text()
    return parse_space(yaml.safe_load(text), "default")
