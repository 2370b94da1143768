"""``from xplain import Explainer`` loads neither pandas nor scipy nor scikit-learn (issue 15).

They are imported by the calls that need them: scipy.special by the Shapley kernel,
scipy.stats by LIME's tabular sampling, sklearn by LIME's ridge, pandas by the frames.
"""

from __future__ import annotations

import subprocess
import sys

LAZY = ("pandas", "scipy", "sklearn")
PROBE = """import sys
def loaded():
    return sorted({m.split('.')[0] for m in sys.modules} & set(%r))
from xplain import Explainer
import xplain.methods
print(loaded())
import pandas  # the probe itself sees an import
print(loaded())
"""


def test_explainer_import_loads_no_pandas_scipy_or_sklearn():
    out = subprocess.run(
        [sys.executable, "-c", PROBE % (LAZY,)], capture_output=True, text=True, check=True
    ).stdout.strip().splitlines()
    assert out[-2] == "[]", out[-2]
    assert out[-1] == "['pandas']", out[-1]
