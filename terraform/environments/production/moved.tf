# Until the environment module existed, production's main.tf called these modules itself. These
# blocks move their resources in Terraform's state to their new addresses, so that an
# environment created before then plans no change instead of replacing everything (the
# database and the state bucket included). Keep them as long as such a state may exist.

moved {
  from = module.kms
  to   = module.environment.module.kms
}

moved {
  from = module.network
  to   = module.environment.module.network
}

moved {
  from = module.alb
  to   = module.environment.module.alb
}

moved {
  from = module.observability
  to   = module.environment.module.observability
}

moved {
  from = module.ecs_service
  to   = module.environment.module.ecs_service
}

moved {
  from = module.data
  to   = module.environment.module.data
}

moved {
  from = module.state_bucket
  to   = module.environment.module.state_bucket
}

moved {
  from = module.github_oidc
  to   = module.environment.module.github_oidc
}
