"""xplain: explain text, tabular and image models with gradient and perturbation methods."""
