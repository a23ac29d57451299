//! Arranging IAM: the principals the samples name and the roles as the seeds make them.

use ecs_warden::domain::catalog::RoleSpec;

use crate::*;

impl Account {
    /// Tags role `name` `ecs-warden:ignore=true`, as a team whose code owns it would.
    pub async fn ignore_role(&self, name: &str) {
        let tag = aws_sdk_iam::types::Tag::builder()
            .key("ecs-warden:ignore")
            .value("true")
            .build()
            .expect("key and value");
        self.iam
            .tag_role()
            .role_name(name)
            .tags(tag)
            .send()
            .await
            .expect("tag the role");
    }

    /// The role behind the sample sessions, `/platform/PlatformDeployer`, with `actions`
    /// allowed on `*` (none: no policy).
    pub async fn deployer(&self, actions: &[&str]) {
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        self.iam
            .create_role()
            .role_name("PlatformDeployer")
            .path("/platform/")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("create the deployer role");
        if actions.is_empty() {
            return;
        }
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"}]});
        self.iam
            .put_role_policy()
            .role_name("PlatformDeployer")
            .policy_name("deploy")
            .policy_document(policy.to_string())
            .send()
            .await
            .expect("grant the deployer");
    }

    /// The member roles as member.yaml makes them, one per function, each trusting only
    /// its own function's roles in `hub` and requiring its session to name the function.
    /// moto's STS does not read the trust (the launcher refuses a role that does not exist,
    /// as IAM does); the roles are made so the member account holds what a real one would,
    /// and tests/mocked_reach.rs and scripts/check_policies.py cover what moto cannot.
    pub async fn member_role_for(&self, hub: &Account) {
        for function in MEMBER_FUNCTIONS {
            self.member_duty_role(hub, function, function).await;
        }
    }

    /// The drain's role, which member.yaml makes only with `AllowDrain=true`: trusted by
    /// the hub's slr-deletion alone.
    pub async fn drain_role_for(&self, hub: &Account) {
        self.member_duty_role(hub, "slr-drain", "slr-deletion")
            .await;
    }

    async fn member_duty_role(&self, hub: &Account, duty: &str, function: &str) {
        let identity = format!("ecs-warden-{function}");
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", hub.id)},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            "Condition": {
                "ArnLike": {"aws:PrincipalArn": format!("arn:aws:iam::{}:role/ecs-warden/{function}/*", hub.id)},
                "StringEquals": {"sts:SourceIdentity": identity, "sts:RoleSessionName": identity}}}]});
        self.iam
            .create_role()
            .role_name(format!("{MEMBER_ROLE}-{duty}"))
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("create a member role");
    }

    /// An IAM user called `name`, with no policy.
    pub async fn create_user(&self, name: &str) {
        self.iam
            .create_user()
            .user_name(name)
            .send()
            .await
            .expect("create a user");
    }

    /// The role of `spec` as the seed makes it (its trust and managed policy), with
    /// `extra` managed policies attached too.
    pub async fn compliant_role(&self, spec: &RoleSpec, extra: &[&str]) {
        self.iam
            .create_role()
            .role_name(spec.name)
            .assume_role_policy_document(spec.trust_policy)
            .send()
            .await
            .expect("create a compliant role");
        let required = spec.managed_policy.map(|p| p.arn("aws"));
        for policy in required
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
        {
            self.iam
                .attach_role_policy()
                .role_name(spec.name)
                .policy_arn(policy)
                .send()
                .await
                .expect("attach a policy");
        }
    }

    /// Creates `AWSServiceRoleForECS`, as ECS does on first use.
    pub async fn create_ecs_role(&self) {
        self.iam
            .create_service_linked_role()
            .aws_service_name("ecs.amazonaws.com")
            .send()
            .await
            .expect("create the ECS service-linked role");
    }
}
