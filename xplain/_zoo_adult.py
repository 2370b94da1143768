"""Demo models of the Adult (Census Income) table, trained offline and seeded in a few seconds.

``adult_models()`` splits :func:`xplain.datasets.load_adult` (stratified 80/20) and trains

* ``gbt``: a scikit-learn ``Pipeline`` of a ``ColumnTransformer`` (an ``OrdinalEncoder`` for
  the 8 categorical columns, the 6 numeric ones passed through) and a
  ``GradientBoostingClassifier`` (100 trees of depth 3). Each original column feeds exactly
  one model column, so ``tree_shap``'s values are the Shapley values of the columns
  themselves and equal ``exact_shapley``'s on the same background (for the margin,
  ``output="log_odds"``). With a one-hot encoding shap's players would be the indicator
  columns, whose summed values per column are not the column's Shapley value.
* ``mlp``: a torch MLP (2 hidden ReLU layers of 32) over :class:`TabularEncoder`'s encoding
  (standardised numeric columns, one-hot categories), for the gradient methods.

Both reach about 0.85-0.86 accuracy on the test split. Nothing is cached: both train in a
few seconds on 2 CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from xplain.adapters._tabular_encoder import TabularEncoder
from xplain.datasets import load_adult
from xplain.explainer import Explainer

ADULT_LABELS = ["<=50K", ">50K"]
ADULT_TEST_SIZE = 0.2
ADULT_SPLIT_SEED = 0  # the split is fixed, so accuracies of different seeds compare
MLP_HIDDEN = 32
MLP_EPOCHS = 10
MLP_BATCH = 256
MLP_LEARNING_RATE = 3e-3
MLP_WEIGHT_DECAY = 1e-4


@dataclass(frozen=True, eq=False)
class AdultModels:
    """The Adult split, the two demo models, their test accuracies and their explainers."""

    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    gbt: Any  # sklearn Pipeline: ColumnTransformer(OrdinalEncoder) -> GradientBoosting
    mlp: torch.nn.Sequential  # logits [n, 2] of encoder.transform(rows)
    encoder: TabularEncoder
    gbt_accuracy: float
    mlp_accuracy: float
    labels: tuple[str, ...] = tuple(ADULT_LABELS)

    def gbt_explainer(self, **params: Any) -> Explainer:
        """``Explainer(gbt, data=X_train, labels=...)``; ``params`` go to the Explainer.

        E.g. ``background_size=20`` (default 100 k-means rows) or ``output="log_odds"``
        (default ``"probability"``).
        """
        return Explainer(self.gbt, data=self.X_train, labels=list(self.labels), **params)

    def mlp_explainer(self, **params: Any) -> Explainer:
        """``Explainer(mlp, data=X_train, encoder=encoder, labels=...)`` (gradient methods)."""
        return Explainer(
            self.mlp, data=self.X_train, encoder=self.encoder, labels=list(self.labels), **params
        )

    def mlp_predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """The MLP's class probabilities ``[n, 2]`` of the rows ``X``."""
        return _mlp_proba(self.mlp, self.encoder, X)


def adult_models(seed: int = 0) -> AdultModels:
    """Split Adult and train the gradient-boosted trees and the MLP, seeded by ``seed``.

    The split is stratified 80/20 with ``random_state=0`` whatever ``seed`` is; ``seed``
    seeds both models' training. The same seed gives the same models; the global torch
    RNG and thread setting are left as they were. About 3-5 s on 2 CPU cores.
    """
    from sklearn.model_selection import train_test_split

    X, y = load_adult()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=ADULT_TEST_SIZE, random_state=ADULT_SPLIT_SEED, stratify=y
    )
    gbt = adult_gbt(X_train, y_train, seed)
    encoder = TabularEncoder().fit(X_train)
    mlp = adult_mlp(encoder.transform(X_train), y_train.to_numpy(), seed)
    predicted = _mlp_proba(mlp, encoder, X_test).argmax(1)
    return AdultModels(
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        gbt=gbt,
        mlp=mlp,
        encoder=encoder,
        gbt_accuracy=float(gbt.score(X_test, y_test)),
        mlp_accuracy=float((predicted == y_test.to_numpy()).mean()),
    )


def adult_gbt(X_train: pd.DataFrame, y_train: pd.Series, seed: int = 0) -> Any:
    """The fitted gradient-boosted trees Pipeline (ordinal codes for categorical columns)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    categorical = [c for c in X_train.columns if isinstance(X_train[c].dtype, pd.CategoricalDtype)]
    codes = OrdinalEncoder(
        categories=[list(X_train[c].cat.categories) for c in categorical],
        handle_unknown="use_encoded_value",
        unknown_value=-1,
    )
    preprocess = ColumnTransformer(
        [("categorical", codes, categorical)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    trees = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed)
    return Pipeline([("preprocess", preprocess), ("trees", trees)]).fit(X_train, y_train)


def adult_mlp(inputs: np.ndarray, labels: np.ndarray, seed: int = 0) -> torch.nn.Sequential:
    """Train the MLP on encoded rows ``[n, m]`` and 0/1 ``labels`` ``[n]`` (Adam, batches of 256).

    Trained on one thread, so the weights do not depend on the machine's thread count.
    """
    x = torch.tensor(np.asarray(inputs, dtype=np.float32))  # [n, m]
    y = torch.tensor(np.asarray(labels, dtype=np.int64))  # [n]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            nn = torch.nn
            model = nn.Sequential(
                nn.Linear(x.shape[1], MLP_HIDDEN), nn.ReLU(),
                nn.Linear(MLP_HIDDEN, MLP_HIDDEN), nn.ReLU(),
                nn.Linear(MLP_HIDDEN, 2),
            )  # fmt: skip
            optimiser = torch.optim.Adam(
                model.parameters(), lr=MLP_LEARNING_RATE, weight_decay=MLP_WEIGHT_DECAY
            )
            order = torch.Generator().manual_seed(seed)
            for _ in range(MLP_EPOCHS):
                for rows in torch.randperm(len(y), generator=order).split(MLP_BATCH):
                    loss = torch.nn.functional.cross_entropy(model(x[rows]), y[rows])
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def _mlp_proba(mlp: torch.nn.Module, encoder: TabularEncoder, X: pd.DataFrame) -> np.ndarray:
    """Softmax of the MLP's logits of the encoded rows ``X``: ``[n, 2]`` float64."""
    with torch.no_grad():
        logits = mlp(torch.as_tensor(encoder.transform(X)))  # [n, 2]
    return torch.softmax(logits.double(), dim=1).numpy()
