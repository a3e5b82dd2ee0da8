Feature: Audience presence
  Spec §1.2 audience:joined / audience:left / audience:count, §7.1–§7.4; decisions D9, D10, D11.

  @D10
  Scenario: The host hears of an audience member joining; the audience does not
    Given an active conference with host "hana" and audience "bo"
    When "alex" joins the conference
    Then "hana" receives audience:joined with userId "alex" and audienceCount 2
    And "bo" does not receive audience:joined

  @D10
  Scenario: The host hears of an audience member leaving; the audience does not
    Given an active conference with host "hana" and audience "alex", "bo"
    When "alex" leaves the conference
    Then "hana" receives audience:left with userId "alex" and audienceCount 1
    And "bo" does not receive audience:left

  @D12
  Scenario: A disconnect leaves the conference
    Given an active conference with host "hana" and audience "alex", "bo"
    When "alex" disconnects
    Then "hana" receives audience:left with userId "alex" and audienceCount 1

  @D9
  Scenario: A user with two sockets counts once
    Given an active conference with host "hana" and audience "alex"
    When "alex#2" joins the conference
    Then "alex#2" receives conference:joined with audienceCount 1
    And "hana" does not receive audience:joined

  @D9
  Scenario: A user leaves only when the last socket leaves
    Given an active conference with host "hana" and audience "alex", "alex#2"
    When "alex" leaves the conference
    Then "alex" receives conference:left
    And "hana" does not receive audience:left
    When "alex#2" disconnects
    Then "hana" receives audience:left with userId "alex" and audienceCount 0

  @D9 @D10
  Scenario: The host is not audience
    Given an active conference with host "hana" and audience "alex"
    When "hana#2" joins the conference
    Then "hana#2" receives conference:joined with audienceCount 1
    And "hana" does not receive audience:joined

  @D11
  Scenario: The audience count is broadcast to the whole room after a change
    Given an active conference with host "hana" and audience "alex"
    When "bo" joins the conference
    Then "alex" receives audience:count with audienceCount 2
    And "hana" receives audience:count with audienceCount 2

  @D11
  Scenario: The audience count is broadcast every 5 seconds while the conference has members
    Given an active conference with host "hana" and audience "alex"
    Then "alex" receives at least 3 audience:count within 16 seconds
