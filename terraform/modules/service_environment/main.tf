# One AWS environment of the service: every module and how they are wired together.
# terraform/environments/staging and .../production call this module once each and differ
# only in the values they pass (sizes and protections are variables without defaults here,
# so every environment states them), their backend and their provider.

locals {
  name         = "${var.service_name}-${var.environment}"
  tf_state_key = "canaryctl/${var.environment}/terraform.tfstate"
  database_url = "postgresql://${module.data.database_username}@${module.data.postgres_address}:${module.data.postgres_port}/${module.data.database_name}?sslmode=require"
  # A secret reference may name a JSON key (ARN:key::); IAM wants the secret's own ARN.
  app_secret_arn = [for arn in values(var.app_secrets) : join(":", slice(split(":", arn), 0, 7))]
}

module "kms" {
  source = "../kms"

  name                    = local.name
  deletion_window_in_days = var.kms_deletion_window_in_days
}

module "network" {
  source = "../network"

  name               = local.name
  cidr_block         = var.vpc_cidr
  availability_zones = length(var.availability_zones) > 0 ? var.availability_zones : ["${var.region}a", "${var.region}b"]
  single_nat_gateway = var.single_nat_gateway
  kms_key_arn        = module.kms.key_arn
}

module "alb" {
  source = "../alb"

  name                = local.name
  vpc_id              = module.network.vpc_id
  vpc_cidr_block      = module.network.vpc_cidr_block
  public_subnet_ids   = module.network.public_subnet_ids
  certificate_arn     = var.certificate_arn
  deletion_protection = var.alb_deletion_protection

  deregistration_delay = var.deregistration_delay
}

module "observability" {
  source = "../observability"

  name                      = local.name
  service_name              = var.service_name
  kms_key_arn               = module.kms.key_arn
  alarm_emails              = var.alarm_emails
  load_balancer_arn_suffix  = module.alb.load_balancer_arn_suffix
  target_group_arn_suffixes = [module.alb.blue_target_group_arn_suffix, module.alb.green_target_group_arn_suffix]
  enable_managed_prometheus = var.enable_managed_prometheus
}

module "ecs_service" {
  source = "../ecs_service"

  name                  = local.name
  service_name          = var.service_name
  image                 = var.image
  desired_count         = var.desired_count
  min_count             = var.min_count
  max_count             = var.max_count
  vpc_id                = module.network.vpc_id
  vpc_cidr_block        = module.network.vpc_cidr_block
  alb_security_group_id = module.alb.security_group_id
  kms_key_arn           = module.kms.key_arn
  log_group_name        = module.observability.log_group_name

  health_check_grace_period_seconds = var.health_check_grace_period_seconds

  metrics_collector = var.enable_managed_prometheus ? {
    workspace_arn    = module.observability.amp_workspace_arn
    remote_write_url = module.observability.amp_remote_write_url
  } : null

  environment = {
    DATABASE_URL = local.database_url
    REDIS_URL    = "rediss://${module.data.redis_primary_endpoint}:6379/0"
  }
  secrets     = merge({ PGPASSWORD = "${module.data.database_secret_arn}:password::" }, var.app_secrets)
  secret_arns = concat([module.data.database_secret_arn], local.app_secret_arn)
}

module "data" {
  source = "../data"

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  private_subnet_ids        = module.network.private_subnet_ids
  client_security_group_ids = [module.ecs_service.security_group_id]
  kms_key_arn               = module.kms.key_arn
  multi_az                  = var.multi_az
  deletion_protection       = var.database_deletion_protection
  redis_replicas            = var.redis_replicas
}

module "state_bucket" {
  source = "../state_bucket"

  name              = local.name
  kms_key_arn       = module.kms.key_arn
  access_log_bucket = module.alb.access_logs_bucket
  force_destroy     = var.state_bucket_force_destroy
}

module "github_oidc" {
  source = "../github_oidc"

  github_repository      = var.github_repository
  github_environments    = var.github_environments
  create_oidc_provider   = var.create_oidc_provider
  role_name              = "${local.name}-deploy"
  cluster_name           = module.ecs_service.cluster_name
  service_name           = module.ecs_service.service_name
  service_arn            = module.ecs_service.service_arn
  task_definition_family = module.ecs_service.task_definition_family
  listener_arn           = module.alb.listener_arn
  pass_role_arns         = [module.ecs_service.task_execution_role_arn, module.ecs_service.task_role_arn]
  state_bucket_arn       = module.state_bucket.bucket_arn
  kms_key_arn            = module.kms.key_arn
  amp_workspace_arn      = module.observability.amp_workspace_arn
  terraform_state        = var.terraform_state_bucket == null ? null : { bucket = var.terraform_state_bucket, key = local.tf_state_key }
}
