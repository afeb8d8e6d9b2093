<?xml version="1.0" encoding="UTF-8"?>
<!-- The visible structure of word/document.xml as one compact string (see docx.py: _fast_blocks).
     Separators are private-use characters: U+E000 block, U+E001 field, U+E002 control, U+E003 control field,
     U+E004 row, U+E005 cell. Invisible parts (deletions, field codes, text boxes) are removed before. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
  <xsl:output method="text" encoding="UTF-8"/>

  <xsl:template match="/"><xsl:apply-templates select="w:document/w:body" mode="blocks"/></xsl:template>

  <xsl:template match="*" mode="blocks">
    <xsl:apply-templates select="w:p|w:tbl|w:sdt|w:customXml|w:smartTag|w:ins|w:moveTo" mode="block"/>
  </xsl:template>

  <xsl:template match="w:p" mode="block">
    <xsl:text>&#xE000;P&#xE001;</xsl:text><xsl:apply-templates select="." mode="ptext"/>
    <xsl:text>&#xE001;</xsl:text><xsl:apply-templates select=".//w:sdt" mode="control"/>
  </xsl:template>

  <xsl:template match="w:tbl" mode="block">
    <xsl:text>&#xE000;T</xsl:text><xsl:apply-templates select="w:tr|w:sdt|w:customXml" mode="rows"/>
  </xsl:template>

  <xsl:template match="w:sdt" mode="block">
    <xsl:text>&#xE000;S&#xE001;</xsl:text><xsl:apply-templates select="." mode="anchor"/>
    <xsl:apply-templates select="w:sdtContent" mode="blocks"/><xsl:text>&#xE000;E</xsl:text>
  </xsl:template>

  <xsl:template match="w:customXml|w:smartTag|w:ins|w:moveTo" mode="block">
    <xsl:apply-templates select="." mode="blocks"/>
  </xsl:template>

  <!-- rows and cells, also when wrapped in a control or custom XML -->
  <xsl:template match="w:tr" mode="rows">
    <xsl:text>&#xE004;R&#xE001;</xsl:text><xsl:value-of select="w:trPr/w:gridBefore/@w:val"/>
    <xsl:apply-templates select="w:tc|w:sdt|w:customXml" mode="cells"/>
  </xsl:template>
  <xsl:template match="w:sdt" mode="rows"><xsl:apply-templates select="w:sdtContent/*" mode="rows"/></xsl:template>
  <xsl:template match="w:customXml" mode="rows"><xsl:apply-templates select="*" mode="rows"/></xsl:template>
  <xsl:template match="*" mode="rows"/>

  <xsl:template match="w:tc" mode="cells">
    <xsl:text>&#xE005;C&#xE001;</xsl:text><xsl:value-of select="w:tcPr/w:gridSpan/@w:val"/>
    <xsl:text>&#xE001;</xsl:text>
    <xsl:if test="w:tcPr/w:vMerge[not(@w:val) or @w:val='continue']">1</xsl:if>
    <xsl:text>&#xE001;</xsl:text>
    <xsl:for-each select=".//w:p"><xsl:if test="position() &gt; 1"><xsl:text>&#10;</xsl:text></xsl:if>
      <xsl:apply-templates select="." mode="ptext"/></xsl:for-each>
    <xsl:text>&#xE001;</xsl:text><xsl:apply-templates select=".//w:sdt" mode="control"/>
  </xsl:template>
  <xsl:template match="w:sdt" mode="cells"><xsl:apply-templates select="w:sdtContent/*" mode="cells"/></xsl:template>
  <xsl:template match="w:customXml" mode="cells"><xsl:apply-templates select="*" mode="cells"/></xsl:template>
  <xsl:template match="*" mode="cells"/>

  <!-- a content control inside a paragraph or cell: its anchor and its text -->
  <xsl:template match="w:sdt" mode="control">
    <xsl:text>&#xE002;</xsl:text><xsl:apply-templates select="." mode="anchor"/><xsl:text>&#xE003;</xsl:text>
    <xsl:choose>
      <xsl:when test="w:sdtContent//w:p">
        <xsl:for-each select="w:sdtContent//w:p"><xsl:if test="position() &gt; 1"><xsl:text>&#10;</xsl:text></xsl:if>
          <xsl:apply-templates select="." mode="ptext"/></xsl:for-each>
      </xsl:when>
      <xsl:otherwise><xsl:apply-templates select="w:sdtContent//w:t|w:sdtContent//w:tab|w:sdtContent//w:br|w:sdtContent//w:cr|w:sdtContent//w:noBreakHyphen" mode="text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="w:sdt" mode="anchor">
    <xsl:value-of select="w:sdtPr/w:tag/@w:val"/><xsl:text>&#xE003;</xsl:text>
    <xsl:value-of select="w:sdtPr/w:alias/@w:val"/><xsl:text>&#xE003;</xsl:text>
    <xsl:if test="w:sdtPr/w:text">1</xsl:if>
  </xsl:template>

  <xsl:template match="w:p" mode="ptext">
    <xsl:apply-templates select=".//w:t|.//w:tab|.//w:br|.//w:cr|.//w:noBreakHyphen" mode="text"/>
  </xsl:template>

  <xsl:template match="w:t" mode="text"><xsl:value-of select="."/></xsl:template>
  <xsl:template match="w:tab" mode="text"><xsl:text>&#9;</xsl:text></xsl:template>
  <xsl:template match="w:br|w:cr" mode="text"><xsl:text>&#10;</xsl:text></xsl:template>
  <xsl:template match="w:noBreakHyphen" mode="text"><xsl:text>-</xsl:text></xsl:template>
</xsl:stylesheet>
