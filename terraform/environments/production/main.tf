# Production: the same platform as staging (../../modules/service_environment), sized and
# protected for players: a NAT gateway and a database standby per zone, deletion protection
# on the load balancer, the database and canaryctl's records.

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

  kms_deletion_window_in_days  = 30
  single_nat_gateway           = false
  min_count                    = 2
  max_count                    = 20
  multi_az                     = true
  database_deletion_protection = true
  redis_replicas               = 2
  state_bucket_force_destroy   = false
  alb_deletion_protection      = true
}
