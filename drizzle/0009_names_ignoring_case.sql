-- Names that differ only in the case of ASCII letters could be stored twice when two requests raced past
-- the service's check; before the index makes that impossible, any such later row gets its id's tail added
-- to its name (it stays recognisable; nothing else changes).
UPDATE `projects` SET `name` = substr(`name`, 1, 90) || ' (' || substr(`id`, -6) || ')'
WHERE EXISTS (SELECT 1 FROM `projects` p2 WHERE p2.`org_id` = `projects`.`org_id`
  AND lower(p2.`name`) = lower(`projects`.`name`) AND p2.`id` < `projects`.`id`);--> statement-breakpoint
UPDATE `tags` SET `name` = substr(`name`, 1, 90) || ' (' || substr(`id`, -6) || ')'
WHERE EXISTS (SELECT 1 FROM `tags` t2 WHERE t2.`org_id` = `tags`.`org_id`
  AND lower(t2.`name`) = lower(`tags`.`name`) AND t2.`id` < `tags`.`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `projects_org_lower_name_uq` ON `projects` (`org_id`,lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX `tags_org_lower_name_uq` ON `tags` (`org_id`,lower("name"));
