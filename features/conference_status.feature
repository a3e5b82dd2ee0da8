@D8
Feature: Conference status
  §1.2 conference:status_changed and decision D8: a conference is activated and ended outside
  the socket protocol (through the profile's fixture: the Control API, the deployment's own
  API, or commands); the room hears of it, and an ended conference takes no joins and no votes.

  Scenario: Activating a conference tells the room
    Given a draft conference with host "hana" and audience "alex"
    When the conference is activated
    Then "alex" receives conference:status_changed with conferenceId "the conference" and status "ACTIVE"
    And "hana" receives conference:status_changed with status "ACTIVE"

  @D7
  Scenario: Ending a conference tells the room and closes it to joins
    Given an active conference with host "hana" and audience "alex"
    When the conference is ended
    Then "alex" receives conference:status_changed with status "ENDED"
    When "bo" joins the conference
    Then "bo" receives error CONFERENCE_ENDED for conference:join

  Scenario: After the end, a socket of the conference can no longer vote
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When the conference is ended
    And "alex" receives conference:status_changed with status "ENDED"
    And "alex" votes "A" on question "q1"
    Then "alex" receives vote:rejected
