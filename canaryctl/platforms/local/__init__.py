"""The local platform: backend processes behind a weighted router, owned by a sandbox supervisor.

Modules: ``router`` (+ ``proxy``, ``upstream``, ``stats``) the ALB stand-in; ``supervisor``
(+ ``control``, ``tasksets``, ``processes``) the process owner; ``platform`` the Platform seam.
Nothing is imported here so that ``canaryctl --help`` stays fast.
"""
