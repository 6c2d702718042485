"""theory: closed-form and simulated distillation for linear and kernel models.

``import theory as th``. See README.md for a quick start and ../SCIENCE.md for the maths.
"""
