# Staging: the whole platform at its smallest sensible size (one NAT gateway, single-AZ
# database, no deletion protection so it can be torn down and rebuilt). What the platform is
# lives in ../../modules/service_environment; this file says only how big and how protected.

module "environment" {
  source = "../../modules/service_environment"

  environment            = var.environment
  region                 = var.region
  service_name           = var.service_name
  image                  = var.image
  certificate_arn        = var.certificate_arn
  availability_zones     = var.availability_zones
  vpc_cidr               = var.vpc_cidr
  github_repository      = var.github_repository
  github_environments    = var.github_environments
  create_oidc_provider   = var.create_oidc_provider
  terraform_state_bucket = var.terraform_state_bucket
  app_secrets            = var.app_secrets
  alarm_emails           = var.alarm_emails
  desired_count          = var.desired_count

  deregistration_delay              = var.deregistration_delay
  health_check_grace_period_seconds = var.health_check_grace_period_seconds
  enable_managed_prometheus         = var.enable_managed_prometheus

  kms_deletion_window_in_days  = 7
  single_nat_gateway           = true
  min_count                    = 1
  max_count                    = 4
  multi_az                     = false
  database_deletion_protection = false
  redis_replicas               = 1
  state_bucket_force_destroy   = true
  # On by default even in staging: the staging domain points at this ALB's DNS name.
  # `canaryctl env down staging --var alb_deletion_protection=false` tears it down.
  alb_deletion_protection = var.alb_deletion_protection
}
