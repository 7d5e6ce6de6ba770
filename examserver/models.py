"""Every model module of every package, imported once so the metadata is complete."""
from itembank.core import audit, people, reference  # noqa: F401
from itembank.core.db import Base
from itembank import standards  # noqa: F401
from itembank import blueprints, items, papers  # noqa: F401
from scoring import certification  # noqa: F401
from scoring import marking_models as _marking_models  # noqa: F401
from examserver.administration import models as _administration_models  # noqa: F401
from examserver.delivery import models as _delivery_models  # noqa: F401
from examserver.violations import models as _violations_models  # noqa: F401
from examserver.analysis import models as _analysis_models  # noqa: F401

metadata = Base.metadata
