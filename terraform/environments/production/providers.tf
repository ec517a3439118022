provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "canaryctl"
      Service     = var.service_name
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}
